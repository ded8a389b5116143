"""English texts of the Explorer tab and the page's language switch: one part of the English catalog
(`en.EN`). The Explorer's own filters, column names, values in words and the readable feedback card.

Filters read as one sentence built from fragments (`exf_`), each a Gradio i18n label, so another
language may order them its own way; column names are `exc_`, cell values `exv_`, the feedback card `fbv_`.
"""

from __future__ import annotations

EXPLORER_EN: dict[str, str] = {
    # the language switch
    "language": "Language",
    # filters, read as a sentence: "Show [all] verdicts where visitors [...] in [any category] with review [...]"
    "exf_show": "Show",
    "exf_verdicts": "verdicts",
    "exf_where": "where visitors",
    "exf_in": "in",
    "exf_review": "with review",
    "exf_verdict_label": "Which verdicts",
    "exf_dispute_label": "What visitors said",
    "exf_category_label": "Which category",
    "exf_review_label": "Which review state",
    "exf_all": "all",
    "exf_fake": "AI-generated",
    "exf_real": "real-photo",
    "exf_undecided": "undecided",
    "exf_any_dispute": "said anything (or nothing)",
    "exf_disagreed": "disagreed",
    "exf_not_disagreed": "did not disagree",
    "exf_any_category": "any category",
    "exf_any_review": "in any state",
    # columns
    "exc_prediction": "No.",
    "exc_when": "When",
    "exc_verdict": "Model said",
    "exc_p_fake": "Chance of fake",
    "exc_visitor": "Visitor says",
    "exc_truth": "Really is",
    "exc_category": "Category",
    "exc_disputed": "Disagreement",
    "exc_review": "Review",
    "exc_explanation": "Explanation",
    # cell values in words
    "exv_yes": "yes",
    "exv_no": "no",
    "exv_right": "verdict right",
    "exv_wrong": "verdict wrong",
    "exv_review_pending": "waiting",
    "exv_review_accepted": "accepted",
    "exv_review_rejected": "rejected",
    "cat_animal": "animal",
    "cat_human": "person",
    "cat_object": "object",
    "cat_scenery": "scenery",
    "cat_satellite": "satellite image",
    "cat_doc": "document",
    "cat_deepfake": "deepfake face",
    # the selected row
    "explorer_selected": "Prediction number",
    "explorer_feedback": "Feedback",
    "explorer_p": ", chance of fake {pct}",
    "reviewers_title": "Reviewers",
    "export_file": "Export file",
    # the feedback card
    "fbv_none": "No feedback on this prediction yet.",
    "fbv_title": "Feedback #{id} from visitor {who}",
    "fbv_right": "The verdict was right.",
    "fbv_wrong": "The verdict was wrong.",
    "fbv_truth": "The picture really is: {label}.",
    "fbv_agree": "Agrees with phrase {phrases}.",
    "fbv_disagree": "Disagrees with phrase {phrases}.",
    "fbv_corrected": "A better explanation, in the visitor's words:",
    "fbv_comment": "Comment:",
    "fbv_category": "Category: {category}.",
    "fbv_consent_yes": "The picture may be kept to train the model.",
    "fbv_consent_no": "No consent: the picture is not kept.",
    "fbv_review": "Review: {state}",
    "fbv_reviewed_by": " (by {who})",
}
