# nbgrader's configuration for the course; `make release` and `make validate` run nbgrader from this folder.
# Every path derives from this file's location, never from the current directory.
from pathlib import Path

from incidentlab.nbgrader_stub import generate_assignment_preprocessors

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)

_grading = Path(__file__).resolve().parent
_course = _grading / "course"  # release, submitted, autograded, feedback and the gradebook (gitignored)

c.CourseDirectory.course_id = "incidentlab"
c.CourseDirectory.root = str(_course)
# The masters are the course's notebooks: notebooks/<module>/*.ipynb is the assignment <module>.
c.CourseDirectory.source_directory = str(_grading.parent / "notebooks")
# What a module's folder holds for its authors stays out of the release: its README (the seeds' reading, with
# figures that answer questions) and its questions file (the checks read it from the package).
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "README.md", "exercises.toml"]
c.CourseDirectory.db_url = f"sqlite:///{_course / 'gradebook.db'}"

c.GenerateAssignment.preprocessors = generate_assignment_preprocessors()

# A notebook's first cell may build a warehouse and its cells run dbt: more than nbgrader's 30 s default.
c.Execute.timeout = 300

# Formgrader renders the autograded notebooks (already cleaned by autograde): nbconvert cleans their HTML again.
c.HTMLExporter.sanitize_html = True
