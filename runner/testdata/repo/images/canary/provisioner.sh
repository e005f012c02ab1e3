#!/bin/sh
# Prints the configured secret (the test sets it in imagebot's environment,
# which a build does not inherit: it prints empty) and the token.
echo "configured secret: $IMAGEBOT_TEST_SECRET"
echo "token again: $TOKEN"
echo "done"
