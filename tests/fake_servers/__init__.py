"""Local fake provider servers speaking the real wire protocols, for tests.

Each module serves one provider on 127.0.0.1 (a random free port), records and checks what the
client sent, and can inject faults. Import them as ``fake_servers.<provider>`` (the root pytest
configuration puts ``tests/`` on the path).
"""
