"""In-memory editors of params files for `-S`, one module per format.

`apply` holds the override rules and the `Editor` protocol; the format modules are
imported by `xpt.pipeline.overrides` only when a file of their format is edited.
"""
