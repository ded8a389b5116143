"""Spot the Fake's web app: the Gradio UI (ui, layout, handlers, figures, cards, classroom/) over a
Gradio-free application layer (service/) and one message catalog (i18n/).

Only the UI modules import gradio; `demo.service` imports neither gradio nor torch. app.py builds
`demo.service.AppState` and `demo.ui.build_demo`. docs/ARCHITECTURE.md has the rules.
"""
