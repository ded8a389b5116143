"""Every sentence the UI shows, in one place, keyed, so a translation is one more dictionary.

`t("key", **values)` formats the string for the current language (English only for now). Keys are
stable identifiers; tests look texts up through them rather than copying the English.
"""

from __future__ import annotations

EN: dict[str, str] = {
    # page
    "title": "Spot the Fake",
    "subtitle": "Is this picture AI-generated? A vision-language model answers, explains why in words, "
    "and shows which parts of the picture each sentence rests on.",
    "tab_check": "Check a picture",
    "tab_explorer": "Explorer",
    "tab_about": "About",
    "upload_label": "Picture (upload, drop or paste)",
    "examples_label": "Or try an example",
    "run_button": "Explain",
    "crop_label": "What the model saw (336×336 centre crop)",
    "explanation_label": "The model's explanation",
    "chips_label": "Phrases: click one to see where it looks",
    "map_method_label": "Map",
    "map_fast": "fast (gradient)",
    "map_faithful": "faithful (occlusion, slower)",
    "opacity_label": "Map opacity",
    "heatmap_label": "Where the selected phrase looks",
    "multiples_label": "All phrases side by side",
    "details_label": "Details (JSON)",
    "maps_json_label": "Maps (JSON)",
    "status_ready": "Upload a picture, paste one, or pick an example.",
    "status_checking": "Checking the picture…",
    "status_thinking": "The model is looking at the picture…",
    "status_streaming": "Writing the explanation…",
    "status_done": "Done in {seconds:.1f} s ({tokens} tokens). Computing the maps…",
    "status_maps_done": "Maps ready. Click a phrase to see where it looks.",
    "status_occlusion": "Hiding one part of the picture at a time and rescoring every phrase…",
    "unseen_margin": "outside: not seen by the model",
    "model_line": "Model: **{model}**{revision} · licence: {license}",
    "toy_banner": "⚠️ {notice}",
    "no_image_kept": "The picture was not kept (no consent), so the map is drawn on a blank canvas.",
    # verdict card
    "verdict_fake": "AI-generated (fake)",
    "verdict_real": "Real photo",
    "verdict_undecided": "No clear verdict",
    "verdict_prob": "The model's own probability that it is fake: <b>{pct}</b>",
    "verdict_prob_missing": "The model gave no probability for this answer.",
    "verdict_uncertain": "Uncertain: the model is close to 50/50 here. Treat this verdict as a guess.",
    "verdict_undecided_note": "The answer did not say 'real' or 'fake' where the verdict should be.",
    "verdict_caveat": "A model's opinion, not proof. It can be wrong, especially on pictures unlike its training data.",
    # evidence panel
    "evidence_title": "Evidence in the file",
    "evidence_intro": "What the file's own data says. This is context, not a second verdict: metadata can be "
    "forged or stripped.",
    "evidence_none": "Nothing to report in the file's data.",
    "evidence_what": "what is this?",
    "evidence_errors": "Could not read part of the file's data: {errors}",
    "strength_strong": "strong",
    "strength_moderate": "moderate",
    "strength_weak": "weak",
    "strength_info": "context",
    "points_ai": "points to AI",
    "points_camera": "points to a camera",
    "points_processed": "points to editing / re-encoding",
    "points_none": "",
    # chips
    "chip_prior": "{text}  ⚠ language prior",
    "prior_legend": "⚠ marks a phrase the model would say about almost any picture: it rests on its "
    "language habits more than on this image.",
    # feedback
    "feedback_title": "Was the model right?",
    "fb_verdict": "The verdict was",
    "fb_right": "right",
    "fb_wrong": "wrong",
    "fb_true_label": "The picture really is",
    "fb_label_real": "real",
    "fb_label_fake": "AI-generated",
    "fb_label_unsure": "not sure",
    "fb_agree": "Phrases I agree with",
    "fb_disagree": "Phrases I disagree with",
    "fb_corrected": "A better explanation (optional)",
    "fb_category": "What is in the picture",
    "fb_category_none": "(choose)",
    "fb_comment": "Anything else (optional)",
    "fb_consent": "You may keep this picture and my feedback to improve the model (otherwise the "
    "picture is not stored)",
    "fb_submit": "Send feedback",
    "fb_saved": "Thank you! Saved as feedback record **#{id}**{updated}. You can change your answers and "
    "send again: the same record is updated.",
    "fb_saved_updated": " (updated)",
    "fb_need_prediction": "Explain a picture first, then tell us what you think.",
    "fb_both_votes": "A phrase cannot be both agreed and disagreed with: {phrases}",
    "fb_bad_phrase": "Unknown phrase number {index}.",
    "fb_empty": "Please answer at least one question before sending.",
    "fb_bad_choice": "'{value}' is not a valid answer for {field}.",
    # errors
    "err_no_image": "Please upload or paste a picture first.",
    "err_rate": "You are going fast: at most {limit} requests per {minutes} minutes. Please wait {wait} s.",
    "err_busy": "The server is busy; please try again in a minute.",
    "err_expired": "This result is no longer in memory (the server restarted or it is old). Please run the "
    "picture again.",
    "err_not_found": "There is no such result, or it is not yours.",
    "err_model": "The model failed on this picture: {error}",
    "err_storage": "Could not save: {error}",
    "err_bad_method": "Unknown map method {method!r}.",
    # explorer
    "explorer_intro": "Your own earlier results in this browser. Reviewers can sign in to see everyone's "
    "feedback.",
    "explorer_refresh": "Refresh",
    "explorer_filter_verdict": "Model verdict",
    "explorer_filter_disagree": "Only disagreements",
    "explorer_filter_category": "Category",
    "explorer_filter_review": "Review state",
    "explorer_any": "any",
    "explorer_rows": "Results",
    "explorer_open": "Open the selected row",
    "explorer_nothing": "Nothing here yet.",
    "explorer_pick": "Select a row in the table first.",
    "explorer_reopened": "Prediction #{id}: {verdict}{p}",
    "reviewer_token": "Reviewer token",
    "reviewer_login": "Sign in as reviewer",
    "reviewer_ok": "Signed in as reviewer **{name}**.",
    "reviewer_bad": "That token is not right.",
    "reviewer_off": "Token sign-in is switched off on this server (no SPOT_ADMIN_TOKEN).",
    "reviewer_not_allowed": "@{name} is not on this Space's reviewer list.",
    "reviewer_needed": "Only reviewers can do that.",
    "review_accept": "Accept correction",
    "review_reject": "Reject correction",
    "review_done": "Feedback #{id} marked {state}.",
    "review_no_feedback": "The selected row has no feedback to review.",
    "export_button": "Export accepted feedback",
    "export_done": "Exported {count} records (accepted, consented, with a category).",
    "export_skipped": "Left out: {why}.",
    # about
    "about": (
        "**How to read the maps.** Orange cells support the selected phrase, purple ones speak against "
        "it; the dashed box is the 336×336 centre crop the model actually looks at, and the dimmed "
        "margins are never seen. The fast map is a gradient estimate; the faithful map hides each "
        "patch in turn and measures how much the phrase loses, which is slower and closer to the truth.\n\n"
        "**Privacy.** Your browser keeps a random token; the server stores only a keyed hash of it, never "
        "your IP address. Pictures are stored only if you tick the consent box. Only reviewers see other "
        "people's feedback."
    ),
}

_LANGS: dict[str, dict[str, str]] = {"en": EN}


def t(key: str, lang: str = "en", **values: object) -> str:
    """The text for `key` in `lang` (English when missing), formatted with `values`."""
    table = _LANGS.get(lang, EN)
    text = table.get(key, EN[key])
    return text.format(**values) if values else text
