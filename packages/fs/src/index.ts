// Implemented by the @mediagate/fs issue; see the package README.
export {};
