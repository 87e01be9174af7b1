"""`zoo serve`: exported SavedModels behind TensorFlow Serving's REST API (issue 24).

- :mod:`zoo.serving.repository`: model folders (plain exports or TF Serving's numbered version folders),
  loaded with plain ``tf.saved_model.load``, and their signatures.
- :mod:`zoo.serving.codec`: TF Serving's JSON (row and columnar formats) to and from NumPy arrays.
- :mod:`zoo.serving.batching`: dynamic batching and the bounded queues in front of each signature.
- :mod:`zoo.serving.app`: the Starlette application (REST routes, limits, ``/healthz``, the web page).
- :mod:`zoo.serving.server`: ``zoo serve`` itself: uvicorn, the listening socket, graceful stop.
"""
