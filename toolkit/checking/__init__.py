"""checking: every rule of a form (勾稽关系, cross-year rules, fields, texts) applied to a Return; annotated copies."""
