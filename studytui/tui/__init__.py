"""The study desk: a Textual app over the headless core (session, store, curriculum, runs).

`studytui.tui.app.build_app(session)` is the one factory: the CLI's bare `studytui`, the
tests and the start-up bench all build the app through it.
"""
