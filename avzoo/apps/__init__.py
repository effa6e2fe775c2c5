"""Gradio demos: one module per Space, and the zoo app (``avzoo.apps.zoo``) that ``avzoo serve`` composes.

Importing this package does not import gradio; the zoo and the Space modules do.
"""
