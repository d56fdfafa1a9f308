"""The server's routes, one router each over the job service: the pages (``pages``), the
jobs API (``jobs``) and the voice library (``voices``)."""
