#!/bin/sh
# Prints the configured secret (the test passes it in the environment) and
# fails with the token in the error, so the failure path is checked too.
echo "configured secret: $IMAGEBOT_TEST_SECRET"
echo "token again: $TOKEN"
echo "done"
