"""The demo around Strategy Briefs, outside the product: never in the image, never imported
by the DAG.

- `published`: the special-edition page's published figures (`published_figures.csv`), the
  one place they are written down;
- `sample_data`: the bundled sample submissions (data/incoming) through those figures, and
  large submissions for benchmarks and fault tests;
- `sink`: a loopback SMTP server saving `.eml` files, for `strategy-briefs demo` and `run`
  without a mail server, `make airflow` and the tests.

A checkout's `make setup` installs it (the dev group of uv.lock); `strategy-briefs` imports
it lazily, only to start the sink.
"""
