.PHONY: run test
run:  ## install everything, then run web + workers with a demo tenant and its demo camera
	scripts/run.sh
test:  ## install what the tests need, then run the suite
	scripts/test.sh
