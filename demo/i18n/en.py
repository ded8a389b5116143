"""English texts of every page (main page, classroom, clue glossary): the reference catalog.

Every other language has the same keys with the same placeholders (tests/demo/classroom/test_i18n.py
checks). Key prefixes: none for the main page, `cls_` for the classroom (plus its shared vocabulary
`verdict_`, `guess_`, `truth_`, `source_`, `ho_` for handouts), `gl_` for the clue glossary (in
en_glossary.py). Placeholders in braces are filled on the server (`tr(key, lang, **values)`, or
`t(key, **values)` on the English main page); texts used as Gradio i18n labels (`lab(key)`) have
none, since the browser translates them as they are. Pure data, hence longer than other modules.
"""

from __future__ import annotations

from .en_explorer import EXPLORER_EN
from .en_glossary import GLOSSARY_EN

_PAGES: dict[str, str] = {
    # main page: page
    "title": "Spot the Fake",
    "subtitle": "Is this picture AI-generated? A vision-language model answers, explains why in words, "
    "and shows which parts of the picture each sentence rests on.",
    "title_md": "# Spot the Fake\nIs this picture AI-generated? A vision-language model answers, explains why "
    "in words, and shows which parts of the picture each sentence rests on.",
    "tab_check": "Check a picture",
    "tab_explorer": "Explorer",
    "tab_about": "About",
    "upload_label": "Picture (upload, drop or paste)",
    "examples_label": "Or try an example",
    "run_button": "Explain",
    "crop_label": "What the model saw (336×336 centre crop)",
    "explanation_label": "The model's explanation",
    "explanation_info": "The model answers in English; its words are shown exactly as it wrote them.",
    "chips_label": "Phrases: click one to see where it looks",
    "chips_info": "The model's own words; after \u201cclue:\u201d, the glossary's name for what the phrase describes.",
    "chip_clues": "{text} · clue: {clues}",
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
    "toy_warning": "This is the toy model shipped with Spot the Fake: it only knows the planted toy artifacts it "
    "was trained on and knows nothing about real AI-generated images.",
    "no_image_kept": "The picture was not kept (no consent), so the map is drawn on a blank canvas.",
    # main page: verdict card
    "verdict_label_fake": "AI-generated (fake)",
    "verdict_label_real": "Real photo",
    "verdict_label_undecided": "No clear verdict",
    "verdict_prob": "The model's own probability that it is fake: <b>{pct}</b>",
    "verdict_prob_missing": "The model gave no probability for this answer.",
    "verdict_uncertain": "Uncertain: the model is close to 50/50 here. Treat this verdict as a guess.",
    "verdict_undecided_note": "The answer did not say 'real' or 'fake' where the verdict should be.",
    "verdict_aria": "The model's verdict: {label}. {prob}",
    "verdict_meter_aria": "Probability that it is fake: {pct}",
    "verdict_caveat": "A model's opinion, not proof. It can be wrong, especially on pictures unlike its training data.",
    # main page: evidence panel
    "evidence_title": "Evidence in the file",
    "evidence_intro": "What the file's own data says. This is context, not a second verdict: metadata can be "
    "forged or stripped.",
    "evidence_none": "Nothing to report in the file's data.",
    "evidence_what": "what is this?",
    "evidence_as_read": "As the file's data says it (in English):",
    "evidence_errors": "Could not read part of the file's data: {errors}",
    "strength_strong": "strong",
    "strength_moderate": "moderate",
    "strength_weak": "weak",
    "strength_info": "context",
    "points_ai": "points to AI",
    "points_camera": "points to a camera",
    "points_processed": "points to editing / re-encoding",
    # main page: chips
    "chip_prior": "{text}  ⚠ language prior",
    "prior_legend": "⚠ marks a phrase the model would say about almost any picture: it rests on its "
    "language habits more than on this image.",
    # main page: feedback
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
    "fb_contradiction_right": "You said the verdict \u201c{verdict}\u201d was right, but that the picture really is "
    "{label}. Please change one of the two answers so they agree. Nothing was saved.",
    "fb_contradiction_wrong": "You said the verdict \u201c{verdict}\u201d was wrong, but that the picture really is "
    "{label}, which is what the model said. Please change one of the two answers so they agree. Nothing was saved.",
    "fb_bad_choice": "'{value}' is not a valid answer for {field}.",
    "fb_consent_field": "keeping the picture",
    "err_upload_length": "Uploads must say how large they are (a Content-Length header).",
    "err_upload_request": "Too much in one upload: at most {mb} MiB per request.",
    "err_upload_budget": "You have uploaded a lot: at most {mb} MiB per 10 minutes. Please wait {wait} s.",
    "err_queue_full": "Too many people are waiting for the model right now ({waiting} pictures). Please try again in a minute.",
    "err_bad_value": "'{value}' is not a valid value for {field}.",
    "opacity_field": "the map's opacity",
    # main page: errors
    "err_no_image": "Please upload or paste a picture first.",
    "err_rate": "You are going fast: at most {limit} requests per {minutes} minutes. Please wait {wait} s.",
    "err_busy": "The server is busy; please try again in a minute.",
    "err_expired": "This result is no longer in memory (the server restarted or it is old). Please run the "
    "picture again.",
    "err_not_found": "There is no such result, or it is not yours.",
    "err_model": "The model failed on this picture: {error}",
    "err_storage": "Could not save: {error}",
    "err_bad_method": "Unknown map method {method!r}.",
    # main page: explorer
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
    # main page: about
    "about": (
        "**How to read the maps.** Orange cells support the selected phrase, purple ones speak against "
        "it; the dashed box is the 336×336 centre crop the model actually looks at, and the dimmed "
        "margins are never seen. The fast map is a gradient estimate; the faithful map hides each "
        "patch in turn and measures how much the phrase loses, which is slower and closer to the truth.\n\n"
        "**Deletion AUC** (in the maps' data): hide the map's hottest patches first and watch the phrase "
        "fade; the number is the area under that curve, from 0 to 1. Lower is better, but it only means "
        "something beside *deletion_auc_random*, the same curve when patches are hidden in random order: "
        "0.42 against 0.87 says the map found what the phrase rests on; equal numbers say it did no better "
        "than chance.\n\n"
        "**Privacy.** Your browser keeps a random token; the server stores only a keyed hash of it, never "
        "your IP address. Pictures are stored only if you tick the consent box. Only reviewers see other "
        "people's feedback."
    ),
    # classroom: page
    "nav_home": "Home",
    "cls_nav": "Classroom",
    "cls_title_md": "# Classroom: spot the fake together\nLook first, guess, then learn to see the clues the model sees.",
    "cls_language": "Language",
    "cls_tab_student": "Join a class",
    "cls_tab_teacher": "Teacher",
    "cls_tab_glossary": "Clue glossary",
    # classroom: student
    "cls_student_intro": "Enter the code your teacher shows and a nickname. No account: nothing about you is "
    "stored but the nickname, which only your teacher sees.",
    "cls_join_code": "Class code",
    "cls_nickname": "Nickname",
    "cls_nickname_info": "Only your teacher sees it.",
    "cls_join": "Join",
    "cls_joined": "Welcome, **{nick}**! You joined *{title}*.",
    "cls_picture": "Picture",
    "cls_guess": "Real photo or AI-generated?",
    "cls_guess_real": "Real photo",
    "cls_guess_fake": "AI-generated",
    "cls_confidence": "How sure are you?",
    "cls_confidence_info": "1 = just guessing, 5 = certain",
    "cls_reason": "What made you think so?",
    "cls_reason_ph": "A few words, e.g. the hands look odd",
    "cls_submit": "Send my answer",
    "cls_answer_prompt": "Answer before your teacher reveals the picture.",
    "cls_answer_saved": "Answer saved: **{guess}** (sure: {conf}/5). You can change it until the reveal.",
    "cls_no_answer_given": "You did not answer this picture.",
    "cls_progress": "**{title}** · picture {n} of {total}",
    "cls_session_closed": "This class session is closed.",
    # classroom: reveal
    "cls_model_says": "The model says",
    "cls_model_thinking": "The model is looking…",
    "cls_p_fake": "its own probability that it is AI-generated: {pct}%",
    "cls_streaming": "The explanation is still being written…",
    "cls_truth": "The truth",
    "cls_you_said": "You said: {guess} (sure: {conf}/5).",
    "cls_you_right": "Well spotted!",
    "cls_you_wrong": "Not this time.",
    "cls_votes": "The class: {n} answers.",
    "cls_votes_conf": "Average sureness {conf}/5.",
    "cls_votes_legend": "{real} said real photo, {fake} said AI-generated.",
    "cls_votes_none": "Nobody answered this picture.",
    "cls_reference": "Reference explanation (from the dataset):",
    "cls_caveat": "A model's opinion, not proof: it can be wrong, especially on pictures unlike its training data.",
    "cls_explanation": "Why:",
    "cls_chips": "Phrases of the explanation",
    "cls_chips_info": "Pick a phrase to see where in the picture it comes from, and what the clue means.",
    "cls_heatmap": "Where the phrase comes from",
    "cls_scale_signed": "for ▲ / ▼ against",
    "cls_scale_plain": "importance",
    "cls_unseen": "not seen by the model",
    "cls_clues_in_phrase": "Clues in this phrase",
    "cls_no_clues": "This phrase names no clue from the glossary.",
    # classroom: teacher: key
    "cls_teacher_intro": "Build a lesson set of pictures, start a session, and share its code with your class. "
    "You need no account: a secret teacher key identifies you.",
    "cls_teacher_key": "Teacher key",
    "cls_teacher_key_info": "Kept in this browser. Write it down to use your sets and sessions on another computer.",
    "cls_use_key": "Use this key",
    "cls_new_key": "New teacher key",
    "cls_key_new": "Your new teacher key is `{key}`. It is shown only this once and kept in this browser; "
    "write it down to use it elsewhere. Whoever has it can run your sessions and read your class's answers.",
    "cls_key_ok": "Teacher key accepted.",
    # classroom: teacher: building
    "cls_build_title": "1. Build a lesson set",
    "cls_set_title": "Title of the lesson",
    "cls_upload": "Upload pictures",
    "cls_upload_truth": "The pictures you upload are",
    "cls_examples": "Example pictures",
    "cls_fc_count": "How many from FakeClue",
    "cls_fc_pull": "Add labelled pictures from FakeClue (online)",
    "cls_pending": "Pictures for the new set",
    "cls_clear": "Clear the list",
    "cls_create_set": "Save the lesson set",
    "cls_added": "{n} picture(s) added.",
    "cls_refused": "Not added:",
    "cls_set_saved": "Lesson set **{code}** saved: *{title}*, {n} picture(s). Share the set code with other teachers; "
    "start a class session below.",
    "cls_default_title": "Spot the fake",
    # classroom: teacher: session
    "cls_start_title": "2. Start a class session",
    "cls_set_code": "Set code",
    "cls_start_session": "Start a session",
    "cls_my_sessions": "My sessions",
    "cls_resume": "Open",
    "cls_session_started": "Session **{code}** started. Students join with this code.",
    "cls_session_resumed": "Session **{code}** opened.",
    "cls_banner_join": "Join the class with the code",
    "cls_banner_where": "at {url} (tab \u201cJoin a class\u201d)",
    "cls_this_page": "this page",
    "cls_count": "{answered} of {joined} student(s) answered this picture.",
    "cls_truth_private": "Only you see this: the truth is *{truth}*.",
    "cls_prev": "◀ Previous",
    "cls_reveal": "Reveal",
    "cls_next": "Next ▶",
    "cls_prepare": "Run the model on all pictures now",
    "cls_close": "Close the session",
    "cls_delete": "Delete the session's answers",
    "cls_deleted": "Session {code} deleted, with its {n} answer(s) and every nickname.",
    "cls_err_close_first": "Close the session first, then delete it.",
    "cls_preparing": "Running the model: {done} of {total} pictures done…",
    "cls_prepared": "The model has answered every picture; reveals will be instant.",
    "cls_results_title": "### Class results",
    "cls_summary": "{students} student(s) joined, {answers} answer(s). On pictures whose truth is known the class "
    "was right {class_right} of {class_total} times; the model {model_right} of {model_total} (revealed ones).",
    "cls_answers_title": "### Answers to this picture (only you see them)",
    "cls_export": "Export answers (CSV)",
    "cls_exported": "The answers are ready to download.",
    "cls_handout": "Handout for this picture",
    "cls_handout_all": "Handout for all pictures",
    "cls_handout_ready": "The handout is ready: a PDF and a printable page.",
    "cls_files": "Downloads",
    "cls_yes": "yes",
    "cls_picture_n": "picture {n} of {total}",
    # classroom: table columns
    "cls_col_picture": "#",
    "cls_col_caption": "Picture",
    "cls_col_source": "Source",
    "cls_col_truth": "Truth",
    "cls_col_model": "Model",
    "cls_col_answers": "Answers",
    "cls_col_real": "% real",
    "cls_col_fake": "% AI",
    "cls_col_correct": "% right",
    "cls_col_conf": "Avg. sure",
    "cls_col_conf1": "Sure (1-5)",
    "cls_col_revealed": "Revealed",
    "cls_col_nickname": "Nickname",
    "cls_col_answer": "Answer",
    "cls_col_reason": "Why",
    # classroom: glossary
    "cls_glossary_intro": "Every clue the explanations mention: what to look for, and why generators leave it.",
    "gl_look_for": "What to look for:",
    "gl_why": "Why it happens:",
    # classroom: vocabulary
    "verdict_real": "Real photo",
    "verdict_fake": "AI-generated",
    "verdict_undecided": "Undecided",
    "verdict_none": "No answer yet",
    "guess_real": "real photo",
    "guess_fake": "AI-generated",
    "truth_real": "real photo",
    "truth_fake": "AI-generated",
    "truth_unknown": "unknown",
    "source_upload": "upload",
    "source_example": "example",
    "source_fakeclue": "FakeClue",
    # classroom: handout
    "ho_picture": "The picture",
    "ho_model_says": "The model says:",
    "ho_not_run": "The model has not looked at this picture yet.",
    "ho_p_fake": "({pct}% sure it is AI-generated)",
    "ho_truth": "The truth",
    "ho_class": "The class",
    "ho_votes": "{real} said real ({real_pct}%), {fake} said AI-generated ({fake_pct}%)",
    "ho_votes_none": "no answers",
    "ho_explanation": "The model's explanation",
    "ho_reference": "Reference explanation (dataset)",
    "ho_key_phrases": "Where the key phrases come from",
    "ho_legend": "Orange cells support the phrase, purple ones speak against it; the dashed box is the square "
    "the model looks at, and the dimmed margins are never seen.",
    "ho_clues": "Clues to look for",
    "ho_caveat": "A model's opinion, not proof: it can be wrong, especially on pictures unlike its training data.",
    "ho_model": "Model: {model}",
    "ho_font_missing": "This server has no Chinese font for PDFs (install fonts-wqy-microhei or fonts-noto-cjk, "
    "or set SPOT_CJK_FONT); use the printable page instead.",
    # classroom: errors
    "cls_err_key": "That is not a teacher key. Make a new one, or paste the key you wrote down.",
    "cls_err_browser": "This browser has no classroom id yet; reload the page.",
    "cls_err_rate": "Too many tries; please wait {wait} s.",
    "cls_err_unreadable": "the file could not be read",
    "cls_err_example": "There is no example picture called {name}.",
    "cls_err_fakeclue": "FakeClue is not available: {error}",
    "cls_err_no_items": "Add at least one picture first.",
    "cls_err_too_many": "A lesson set holds at most {n} pictures.",
    "cls_err_storage": "Could not save: {error}",
    "cls_err_set_code": "A set code has {n} letters and digits.",
    "cls_err_no_set": "There is no lesson set with that code.",
    "cls_err_join_code": "A class code has {n} letters and digits.",
    "cls_err_not_yours": "There is no such session, or it was started with another teacher key.",
    "cls_err_model": "The model gave no answer for this picture; try again.",
    "cls_err_image_gone": "This picture is no longer stored on the server.",
    "cls_err_nickname": "Please choose a nickname.",
    "cls_err_nickname_long": "The nickname is too long (at most {n} characters).",
    "cls_err_no_session": "There is no class session with that code. Check the code on the board.",
    "cls_err_closed": "This class session is closed.",
    "cls_err_not_joined": "Join the class first.",
    "cls_err_guess": "Choose real photo or AI-generated first.",
    "cls_err_confidence": "Sureness goes from 1 to 5.",
    "cls_err_reason_long": "Please keep it short (at most {n} characters).",
    "cls_err_revealed": "This picture has been revealed: answers are closed.",
    "cls_err_pending_full": "That is too much for one lesson set; save it and start another.",
    "cls_err_pick_session": "Start or open a session first.",
    # Gradio's own key that no catalog of Gradio 6 defines: its status announcer reads it to screen
    # readers after every event, as the bare key "common.complete" unless a custom catalog has it
    "common.complete": "Complete",
}

_twice = (_PAGES.keys() & GLOSSARY_EN.keys()) | (_PAGES.keys() & EXPLORER_EN.keys()) | (
    EXPLORER_EN.keys() & GLOSSARY_EN.keys())
if _twice:
    raise RuntimeError(f"keys in two parts of the English catalog: {sorted(_twice)}")
EN: dict[str, str] = {**_PAGES, **EXPLORER_EN, **GLOSSARY_EN}
