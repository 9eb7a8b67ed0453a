"""Stripe-Signature headers made and checked by the official Stripe library, so the billing tests
can cross-check Treaty's implementation of the scheme against Stripe's own.

    python signature.py sign <secret> <timestamp>   payload on stdin; prints the header
    python signature.py verify <secret> <header>    payload on stdin; prints "ok", or the
                                                    library's error and exits 1
"""

import sys

import stripe


def main():
    command, secret, arg = sys.argv[1:4]
    payload = sys.stdin.buffer.read().decode('utf-8')
    if command == 'sign':
        print(stripe.WebhookSignature.generate_signature_header(payload, secret, int(arg)))
    elif command == 'verify':
        try:
            stripe.Webhook.construct_event(payload, arg, secret, tolerance=300)
        except (stripe.SignatureVerificationError, ValueError) as err:
            print('%s: %s' % (type(err).__name__, err))
            sys.exit(1)
        print('ok')
    else:
        sys.exit('unknown command %r' % command)


if __name__ == '__main__':
    main()
