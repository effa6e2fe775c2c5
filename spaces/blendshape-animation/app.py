"""Hugging Face Space: speech → animated ARKit face (av-lipsync, koemorph, or both). The UI lives in avzoo.apps."""

from avzoo.apps.blendshape_animation import CSS, MAX_FILE_SIZE, build_ui

demo = build_ui()

if __name__ == "__main__":
    demo.launch(css=CSS, show_error=True, max_file_size=MAX_FILE_SIZE)
