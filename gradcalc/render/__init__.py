"""Every way a result leaves the program: Rich views, JSON documents and .npy files, read from `jobs.results`."""
