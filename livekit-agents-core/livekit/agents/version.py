__version__ = "1.0.0"

#: Version of the provider-plugin contract (entry points, factory signature, base classes).
#: A plugin declares the version it was written for; core refuses plugins it cannot serve.
PLUGIN_API_VERSION = 1
