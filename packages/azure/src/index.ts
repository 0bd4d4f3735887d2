// Implemented by the @mediagate/azure issue; see the package README.
export {};
