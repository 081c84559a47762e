using System.Globalization;
using Worker.Persistence;

namespace Worker.Ops;

/// <summary>
/// The filters of <c>GET /requests</c>, parsed from the query string. Empty values count as absent; every problem
/// names its parameter.
/// </summary>
public sealed record RequestFilter(string? Status, string? Provider, DateTimeOffset? Since, int Limit)
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 500;

    public static readonly IReadOnlyList<string> Statuses =
    [
        RequestStatus.Received, RequestStatus.InProgress, RequestStatus.Succeeded,
        RequestStatus.Failed, RequestStatus.Parked, RequestStatus.Replayed, RequestStatus.Deferred,
    ];

    /// <summary>
    /// Null, with <paramref name="errors"/> keyed by parameter name, when any value is bad. <paramref name="since"/> is
    /// an ISO 8601 instant (UTC when it has no offset) or a window back from <paramref name="now"/> such as <c>1h</c>.
    /// </summary>
    public static RequestFilter? TryParse(
        string? status, string? provider, string? since, string? limit, DateTimeOffset now, out Dictionary<string, string[]> errors)
    {
        errors = [];

        if (!string.IsNullOrEmpty(status) && !Statuses.Contains(status))
            errors["status"] = [$"must be one of {string.Join(", ", Statuses)}."];

        if (provider is { Length: > 128 })
            errors["provider"] = ["must be a provider name of at most 128 characters."];

        DateTimeOffset? from = null;
        if (!string.IsNullOrEmpty(since))
        {
            if (TimeBound.TryParse(since, now, out var instant))
                from = instant;
            else
                errors["since"] = [$"must be {TimeBound.Help}."];
        }

        var take = DefaultLimit;
        if (!string.IsNullOrEmpty(limit)
            && (!int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out take) || take is < 1 or > MaxLimit))
            errors["limit"] = [$"must be a whole number from 1 to {MaxLimit} (default {DefaultLimit})."];

        return errors.Count > 0 ? null : new RequestFilter(NullIfEmpty(status), NullIfEmpty(provider), from, take);
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
