"""A stateful fake Stripe for Treaty's billing tests, on 127.0.0.1 only, with state in memory.

It is localstripe (customers, plans, payment methods, subscriptions, invoices and the signed
webhooks they raise) plus what localstripe lacks and Treaty uses, shaped like Stripe's documented
objects:

* ``POST /v1/checkout/sessions`` and ``GET /v1/checkout/sessions/{id}`` (subscription mode);
* ``POST /v1/billing_portal/sessions``;
* ``Idempotency-Key`` on every POST: the first response is replayed for the same key, and a
  different request under the same key is refused, as Stripe does;
* a ``/v1/requests`` log of the API requests received, so tests can see what was asked.

and, under ``/_config/test/`` (unauthenticated, like localstripe's own ``/_config/``), what a customer or the passage of time would do on Stripe's side:

* ``POST /_config/test/checkout/{id}/complete`` — the customer pays on the hosted Checkout page: a card
  is attached, the subscription is created (localstripe raises ``customer.subscription.created``
  and ``invoice.payment_succeeded``), then ``checkout.session.completed`` is sent;
* ``POST /_config/test/subscriptions/{id}/renew`` (``card=<number>``) — a renewal invoice is charged to
  that card: ``invoice.payment_failed`` and ``past_due`` for a declined card (4000000000000341),
  ``invoice.payment_succeeded`` otherwise;
* ``POST /_config/test/invoices/{id}/pay`` (``card=<number>``) — the customer fixes their card and the
  open invoice is paid again.

Usage: ``python fake_stripe.py <port>``. Webhooks are registered with localstripe's own
``POST /_config/webhooks/{id}`` (``url``, ``secret``).
"""

import hashlib
import sys

from aiohttp import web
from localstripe import resources

# localstripe persists its store to a file in the system temp dir; keep it in memory.
resources.Store.dump_to_disk = lambda self: None

from localstripe.errors import UserError, json_response  # noqa: E402
from localstripe.resources import (  # noqa: E402
    Customer, Event, Invoice, PaymentMethod, Plan, StripeObject, Subscription)
from localstripe.server import app, get_post_data  # noqa: E402
from localstripe.webhooks import schedule_webhook  # noqa: E402

PUBLIC_URL = None  # set in main()


class CheckoutSession(StripeObject):
    """Stripe's ``checkout.session`` in subscription mode."""
    object = 'checkout.session'
    _id_prefix = 'cs_test_'

    def __init__(self, mode=None, customer=None, line_items=None, success_url=None,
                 cancel_url=None, client_reference_id=None, metadata=None,
                 subscription_data=None, **kwargs):
        if kwargs:
            raise UserError(400, 'Received unknown parameters: ' + ', '.join(kwargs))
        if mode != 'subscription':
            raise UserError(400, 'Only mode=subscription is faked')
        if not customer or not success_url:
            raise UserError(400, 'customer and success_url are required')
        if not isinstance(line_items, list) or len(line_items) != 1:
            raise UserError(400, 'exactly one line item is faked')
        item = line_items[0]
        Customer._api_retrieve(customer)
        # localstripe has plans, not prices: a price id is a plan with that id.
        Plan._api_retrieve(item.get('price', ''))
        super().__init__()
        self.mode = mode
        self.customer = customer
        self.client_reference_id = client_reference_id
        self.metadata = metadata or {}
        self.success_url = success_url
        self.cancel_url = cancel_url
        self.status = 'open'
        self.payment_status = 'unpaid'
        self.subscription = None
        self.url = '%s/pay/%s' % (PUBLIC_URL, self.id)
        self._price = item['price']
        self._quantity = int(item.get('quantity') or 1)
        self._subscription_metadata = (subscription_data or {}).get('metadata') or {}


class BillingPortalSession(StripeObject):
    """Stripe's ``billing_portal.session``."""
    object = 'billing_portal.session'
    _id_prefix = 'bps_'

    def __init__(self, customer=None, return_url=None, **kwargs):
        if kwargs:
            raise UserError(400, 'Received unknown parameters: ' + ', '.join(kwargs))
        Customer._api_retrieve(customer or '')
        super().__init__()
        self.customer = customer
        self.return_url = return_url
        self.url = '%s/portal/%s' % (PUBLIC_URL, self.id)


def use_card(customer_id, number):
    """Attaches a new card to the customer and makes it the default for invoices."""
    pm = PaymentMethod(type='card', card={
        'number': number, 'exp_month': '12', 'exp_year': '2030', 'cvc': '123'})
    PaymentMethod._api_attach(pm.id, customer=customer_id)
    customer = Customer._api_retrieve(customer_id)
    customer.invoice_settings = {'default_payment_method': pm.id}


def charge(invoice):
    """Charges an open invoice to the customer's default card, as Stripe's automatic collection
    does: a decline sends ``invoice.payment_failed`` and makes the subscription ``past_due``
    (localstripe only does that for payment intents confirmed through its API)."""
    Invoice._api_pay_invoice(invoice.id)
    if invoice.status == 'open' and invoice.charge and invoice.charge.status == 'failed':
        invoice._on_payment_failure_now()


requests_seen = []
idempotent_responses = {}


@web.middleware
async def idempotency(request, handler):
    """Replays the first response to a POST for the same Idempotency-Key, as Stripe does."""
    if request.path.startswith('/v1/'):
        body = await request.read()
        requests_seen.append({'method': request.method, 'path': request.path,
                              'query': request.query_string, 'body': body.decode(),
                              'idempotencyKey': request.headers.get('Idempotency-Key')})
    key = request.headers.get('Idempotency-Key')
    if request.method != 'POST' or not key or not request.path.startswith('/v1/'):
        return await handler(request)
    digest = hashlib.sha256(request.path.encode() + b'?' + (await request.read())).hexdigest()
    if key in idempotent_responses:
        seen_digest, status, text = idempotent_responses[key]
        if seen_digest != digest:
            return json_response({'error': {
                'type': 'idempotency_error',
                'message': 'Keys for idempotent requests can only be used with the same '
                           'parameters they were first used with.'}}, status=400)
        return web.Response(status=status, text=text, content_type='application/json',
                            headers={'Idempotent-Replayed': 'true'})
    response = await handler(request)
    if isinstance(response, web.Response) and response.text is not None:
        idempotent_responses[key] = (digest, response.status, response.text)
    return response


async def create_checkout_session(request):
    data = await get_post_data(request) or {}
    return json_response(CheckoutSession(**data)._export())


async def retrieve_checkout_session(request):
    return json_response(CheckoutSession._api_retrieve(request.match_info['id'])._export())


async def create_portal_session(request):
    data = await get_post_data(request) or {}
    return json_response(BillingPortalSession(**data)._export())


async def list_requests(request):
    return json_response({'object': 'list', 'data': requests_seen})


async def complete_checkout(request):
    data = await get_post_data(request) or {}
    session = CheckoutSession._api_retrieve(request.match_info['id'])
    if session.status != 'open':
        raise UserError(400, 'This Checkout Session is not open')
    use_card(session.customer, data.get('card', '4242424242424242'))
    subscription = Subscription(
        customer=session.customer,
        items=[{'plan': session._price, 'quantity': session._quantity}],
        metadata=session._subscription_metadata)
    session.status = 'complete'
    session.payment_status = 'paid'
    session.subscription = subscription.id
    schedule_webhook(Event('checkout.session.completed', session))
    return json_response(session._export())


async def renew_subscription(request):
    data = await get_post_data(request) or {}
    subscription = Subscription._api_retrieve(request.match_info['id'])
    use_card(subscription.customer, data.get('card', '4242424242424242'))
    invoice = Invoice(customer=subscription.customer, subscription=subscription.id,
                      items=list(subscription.items._list))
    invoice._finalize()
    charge(invoice)
    return json_response(invoice._export())


async def pay_invoice(request):
    data = await get_post_data(request) or {}
    invoice = Invoice._api_retrieve(request.match_info['id'])
    use_card(invoice.customer, data.get('card', '4242424242424242'))
    charge(invoice)
    return json_response(invoice._export())


def main():
    global PUBLIC_URL
    port = int(sys.argv[1])
    PUBLIC_URL = 'http://127.0.0.1:%d' % port
    app.middlewares.append(idempotency)
    app.router.add_post('/v1/checkout/sessions', create_checkout_session)
    app.router.add_get('/v1/checkout/sessions/{id}', retrieve_checkout_session)
    app.router.add_post('/v1/billing_portal/sessions', create_portal_session)
    app.router.add_get('/v1/requests', list_requests)
    app.router.add_post('/_config/test/checkout/{id}/complete', complete_checkout)
    app.router.add_post('/_config/test/subscriptions/{id}/renew', renew_subscription)
    app.router.add_post('/_config/test/invoices/{id}/pay', pay_invoice)
    web.run_app(app, host='127.0.0.1', port=port, access_log=None, print=None)


if __name__ == '__main__':
    main()
