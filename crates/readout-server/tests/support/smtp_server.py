"""A real SMTP server for the tests: aiosmtpd delivering into a Maildir,
optionally with STARTTLS or implicit TLS and required AUTH.

usage: smtp_server.py PORT MAILDIR [--starttls CERT KEY | --smtps CERT KEY]
                      [--auth USER:PASSWORD]
"""

import argparse
import ssl
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import AuthResult


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("maildir")
    parser.add_argument("--starttls", nargs=2, metavar=("CERT", "KEY"))
    parser.add_argument("--smtps", nargs=2, metavar=("CERT", "KEY"))
    parser.add_argument("--auth", metavar="USER:PASSWORD")
    args = parser.parse_args()

    def context(pair):
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(*pair)
        return ctx

    smtp = {}
    if args.starttls:
        smtp.update(tls_context=context(args.starttls), require_starttls=True)
    if args.auth:
        user, password = args.auth.encode().split(b":", 1)

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = auth_data.login == user and auth_data.password == password
            # handled=False: aiosmtpd answers 535 itself.
            return AuthResult(success=ok, handled=False)

        smtp.update(
            authenticator=authenticator,
            auth_required=True,
            # Implicit TLS is TLS from the start; aiosmtpd only knows of STARTTLS.
            auth_require_tls=bool(args.starttls),
        )
    controller = Controller(
        Mailbox(args.maildir),
        hostname="127.0.0.1",
        port=args.port,
        ssl_context=context(args.smtps) if args.smtps else None,
        **smtp,
    )
    controller.start()
    threading.Event().wait()  # until the test kills it


if __name__ == "__main__":
    main()
