"""mappings.yaml checked when it is loaded (issue 19.7): what Redmine would silently drop.

Redmine 5.0 ignores a role permission it does not know (a typo in `roles.client.permissions`
leaves clients without what the file promises, with no error anywhere), and finds custom
fields by name, so two entries with one Redmine name would be one field set twice. Both are
configuration errors naming the key (exit 2), before any read or write.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

KeyPath = tuple[str | int, ...]
Problem = tuple[KeyPath, str]

# Redmine 5.0's permissions: lib/redmine/preparation.rb (`map.permission :name`), the target version.
REDMINE_PERMISSIONS: frozenset[str] = frozenset({
    "add_documents", "add_issue_notes", "add_issue_watchers", "add_issues", "add_message_watchers",
    "add_messages", "add_project", "add_subprojects", "add_wiki_page_watchers", "browse_repository",
    "close_project", "comment_news", "commit_access", "copy_issues", "delete_documents",
    "delete_issue_watchers", "delete_issues", "delete_message_watchers", "delete_messages",
    "delete_own_messages", "delete_project", "delete_wiki_page_watchers", "delete_wiki_pages",
    "delete_wiki_pages_attachments", "edit_documents", "edit_issue_notes", "edit_issues",
    "edit_messages", "edit_own_issue_notes", "edit_own_issues", "edit_own_messages",
    "edit_own_time_entries", "edit_project", "edit_time_entries", "edit_wiki_pages",
    "export_wiki_pages", "import_issues", "import_time_entries", "log_time", "log_time_for_other_users",
    "manage_boards", "manage_categories", "manage_files", "manage_issue_relations", "manage_members",
    "manage_news", "manage_project_activities", "manage_public_queries", "manage_related_issues",
    "manage_repository", "manage_subtasks", "manage_versions", "manage_wiki", "protect_wiki_pages",
    "rename_wiki_pages", "save_queries", "search_project", "select_project_modules",
    "set_issues_private", "set_notes_private", "set_own_issues_private", "view_calendar",
    "view_changesets", "view_documents", "view_files", "view_gantt", "view_issue_watchers",
    "view_issues", "view_members", "view_message_watchers", "view_messages", "view_news",
    "view_private_notes", "view_project", "view_time_entries", "view_wiki_edits",
    "view_wiki_page_watchers", "view_wiki_pages",
})


def _unknown_permissions(values: Iterable[str], where: KeyPath) -> list[Problem]:
    return [((*where, index), f"unknown Redmine permission '{value}' (Redmine 5.0 would ignore it silently)")
            for index, value in enumerate(values) if value not in REDMINE_PERMISSIONS]


def permission_problems(mappings: Any) -> list[Problem]:
    """Every permission of the file's roles and of the built-in roles is one Redmine 5.0 knows."""
    problems: list[Problem] = []
    for role in ("client", "support"):
        problems += _unknown_permissions(getattr(mappings.roles, role).permissions, ("roles", role, "permissions"))
    problems += _unknown_permissions(mappings.non_member_permissions, ("non_member_permissions",))
    problems += _unknown_permissions(mappings.anonymous_permissions, ("anonymous_permissions",))
    return problems


def field_name_problems(mappings: Any) -> list[Problem]:
    """Within each kind (issue, project, user), one Redmine name per custom field entry."""
    problems: list[Problem] = []
    for section in ("custom_fields", "project_custom_fields", "user_custom_fields"):
        seen: dict[str, str] = {}
        for key, spec in getattr(mappings, section).by_key().items():
            if spec.name in seen:
                problems.append(((section, key, "name"), f"custom field name '{spec.name}' is already used by "
                                                         f"{section}.{seen[spec.name]}: Redmine finds fields by name"))
            else:
                seen[spec.name] = key
    return problems


def mapping_problems(mappings: Any) -> list[Problem]:
    """All load-time checks that mappings.yaml's own schema cannot express."""
    return mappings.reference_problems() + permission_problems(mappings) + field_name_problems(mappings)
