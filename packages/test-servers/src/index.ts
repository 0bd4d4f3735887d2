// Each test server adds one export line here.
export {};
