/**
 * The transport ceiling: reads every request body and throws it away, then answers like the
 * gateway. Nothing is parsed or stored, so this is as fast as a loopback upload can be.
 */
import { createServer } from "node:http";
import { serve, uploadAnswer } from "./serve.ts";

let count = 0;
const server = createServer((req, res) => {
  req.on("end", () => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(uploadAnswer(`http://127.0.0.1/drained/${count++}`));
  });
  req.resume();
});
serve(server);
