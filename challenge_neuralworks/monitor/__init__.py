"""Watching the model in production: the training reference and drift/quality reports.

``reference`` runs at training time (its output goes into the artifact's manifest); the rest
is what ``python -m challenge_neuralworks monitor`` runs in CI and in the scheduled job. None
of it is imported by the Lambda function (the capture writer is ``challenge_neuralworks.capture``).
"""
