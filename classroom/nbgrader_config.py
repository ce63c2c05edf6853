"""nbgrader's configuration for the poolviz course: run every nbgrader command from this folder (classroom/).

The folders are nbgrader's defaults, relative to this one: source/ (the assignments with solutions and hidden
tests, built by tools/make_assignments.py), release/ (what students get), submitted/<student>/<assignment>/
(their work, collected or copied there), autograded/ and feedback/; the gradebook is gradebook.db here.
Everything but source/ is made by nbgrader and ignored by git (classroom/.gitignore).
"""
c = get_config()  # noqa: F821 (nbgrader provides it)

c.CourseDirectory.course_id = "poolviz"

# The student version of a solution region, and of a written-answer cell (nbgrader's defaults, stated here).
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# A checker runs in well under a second (the fast backward's line count in a few); a cell that takes longer
# than this is a learner's runaway loop: stop it and grade the cell as failed.
c.ExecutePreprocessor.timeout = 60

# On a JupyterHub, the exchange folder students fetch from and submit to (nbgrader's default; it must exist
# and be writable by everyone: `sudo mkdir -p /srv/nbgrader/exchange && sudo chmod 777 /srv/nbgrader/exchange`).
c.Exchange.root = "/srv/nbgrader/exchange"
