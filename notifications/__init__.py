"""SMS for volunteer call-outs: reading replies, wording messages, sending them through a gateway.

Pure library: knows SMS and Twilio, nothing of the dispatch app's models or web framework.
"""
