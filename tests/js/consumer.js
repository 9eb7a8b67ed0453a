// A pact-js 17 consumer test: writes its pact (V4) to PACT_DIR.
// Run by tests/tests/it/pact_js.rs with NODE_PATH pointing at .tools/pactjs/node_modules.
const { PactV4, MatchersV3 } = require("@pact-foundation/pact");
const assert = require("assert");

const provider = new PactV4({
  consumer: "JsWeb",
  provider: "JsOrders",
  dir: process.env.PACT_DIR,
  logLevel: "warn",
});

async function main() {
  await provider
    .addInteraction()
    .given("an order exists")
    .uponReceiving("a request for order 1")
    .withRequest("GET", "/orders/1")
    .willRespondWith(200, (builder) => {
      builder.headers({ "Content-Type": "application/json" });
      builder.jsonBody({ id: MatchersV3.integer(1), total: MatchersV3.decimal(9.99) });
    })
    .executeTest(async (mockServer) => {
      const response = await fetch(`${mockServer.url}/orders/1`);
      const order = await response.json();
      assert.strictEqual(order.id, 1);
    });
  console.log("consumer test passed; pact written to", process.env.PACT_DIR);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
