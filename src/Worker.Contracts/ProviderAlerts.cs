namespace Worker.Contracts;

/// <summary>An alert rule started firing for a provider (and model). Ops tooling subscribes to page or post.</summary>
/// <param name="AlertId">Stable id of this alert occurrence; the matching <see cref="ProviderAlertResolved"/> carries it.</param>
/// <param name="Rule">A stable snake_case rule name: <c>provider_offline</c>, <c>error_rate</c>, <c>latency</c>, <c>fallback_rate</c>, <c>breaker_flapping</c>, <c>auth_failed</c>, <c>quota_low</c> (the remaining rate-limit or daily quota below a threshold).</param>
/// <param name="Provider">The configured provider name.</param>
/// <param name="Model">The model, when the rule is per model.</param>
/// <param name="Detail">What was measured against what threshold, human-readable.</param>
/// <param name="RaisedAt">When the rule started firing.</param>
public sealed record ProviderAlertRaised(
    Guid AlertId,
    string Rule,
    string Provider,
    string? Model,
    string Detail,
    DateTimeOffset RaisedAt);

/// <summary>An alert stopped firing.</summary>
/// <param name="AlertId">The id from <see cref="ProviderAlertRaised.AlertId"/>.</param>
/// <param name="Rule">The rule name.</param>
/// <param name="Provider">The configured provider name.</param>
/// <param name="Model">The model, when the rule is per model.</param>
/// <param name="RaisedAt">When it started firing.</param>
/// <param name="ResolvedAt">When it stopped.</param>
public sealed record ProviderAlertResolved(
    Guid AlertId,
    string Rule,
    string Provider,
    string? Model,
    DateTimeOffset RaisedAt,
    DateTimeOffset ResolvedAt);
