// A pact-js 17 provider verification that fetches its pacts from a Treaty tenant and publishes
// the results there. Environment: BROKER_URL, BROKER_TOKEN, PROVIDER_VERSION, PROVIDER_BRANCH.
const http = require("http");
const { Verifier } = require("@pact-foundation/pact");

const orders = { 1: { id: 1, total: 9.99 } };
const server = http.createServer((req, res) => {
  const match = req.url.match(/^\/orders\/(\d+)$/);
  if (req.method === "GET" && match && orders[match[1]]) {
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end(JSON.stringify(orders[match[1]]));
  } else {
    res.writeHead(404);
    res.end();
  }
});

server.listen(0, "127.0.0.1", async () => {
  const { port } = server.address();
  try {
    const output = await new Verifier({
      provider: "JsOrders",
      providerBaseUrl: `http://127.0.0.1:${port}`,
      pactBrokerUrl: process.env.BROKER_URL,
      pactBrokerToken: process.env.BROKER_TOKEN,
      consumerVersionSelectors: [{ mainBranch: true }],
      enablePending: true,
      publishVerificationResult: true,
      providerVersion: process.env.PROVIDER_VERSION,
      providerVersionBranch: process.env.PROVIDER_BRANCH,
      stateHandlers: { "an order exists": async () => {} },
      logLevel: "warn",
    }).verifyProvider();
    console.log("provider verification passed", output || "");
    server.close();
  } catch (err) {
    console.error(err);
    server.close();
    process.exit(1);
  }
});
