// Implemented by the @mediagate/s3 issue; see the package README.
export {};
