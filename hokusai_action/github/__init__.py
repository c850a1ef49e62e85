"""The GitHub side: the REST client, the pull-request comment and the action's entrypoint."""
