"""The Gradio UI of Spot the Fake: configuration, page layout, thin handlers, Plotly figures.

The only package that imports gradio. app.py builds `demo.state.AppState` and `demo.ui.build_demo`.
"""
