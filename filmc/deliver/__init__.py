"""What a render leaves in the output folder: the film, subtitles, the editor's timeline, the manifest."""
