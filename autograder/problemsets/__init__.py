"""One module per problem set; each defines ``PROBLEM_SET``, its registry."""
