"""Tools for course authors: the self-check, the sample submissions (planted bugs, alternatives), the site."""
