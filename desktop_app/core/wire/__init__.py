"""The Messages API's data shapes: content blocks, messages, stream events, requests.

No policy lives here and nothing here does I/O: this is the vocabulary every other
layer of the core speaks.
"""
