#!/bin/bash
# imagebot requires a provisioner.sh in every image directory; the
# original template does not use it.
true
