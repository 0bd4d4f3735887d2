// Implemented by the @mediagate/gcs issue; see the package README.
export {};
