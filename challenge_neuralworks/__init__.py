"""challenge_neuralworks: departure-delay predictions for Santiago de Chile (SCL).

The package is split so that the Lambda request path imports numpy, pydantic and Powertools'
event handler only: training (pandas, scikit-learn) lives in the families' ``build`` modules and
the commands, imported only when they run.
"""

__version__ = "0.1.0"
