using System.Text.Json;
using Worker.Ops;

namespace Worker.DeadLetters;

/// <summary>
/// Which dead letters: by reason, provider, chain, group and a time range on when they were (last) parked. Every part is
/// optional; an empty filter selects everything. Used by <c>GET /dead-letters</c> and by replay/archive selections.
/// </summary>
public sealed record DeadLetterFilter(string? Reason, string? Provider, string? Chain, string? Group, DateTimeOffset? Since, DateTimeOffset? Until)
{
    public static readonly DeadLetterFilter All = new(null, null, null, null, null, null);

    /// <summary>Automatic replay only: leave requests replayed this often alone.</summary>
    public int? ReplayedFewerThan { get; init; }

    /// <summary>
    /// Null, with problems added to <paramref name="errors"/> under <paramref name="prefix"/> + parameter name, when a value
    /// is bad. Empty values count as absent. Since/until are ISO 8601 instants or windows back from <paramref name="now"/>.
    /// </summary>
    public static DeadLetterFilter? TryParse(string? reason, string? provider, string? chain, string? group, string? since, string? until,
        DateTimeOffset now, Dictionary<string, string[]> errors, string prefix = "")
    {
        var before = errors.Count;
        Name(reason, "reason", 64);
        Name(provider, "provider", 128);
        Name(chain, "chain", 128);
        if (!string.IsNullOrEmpty(group) && !DeadLetterGroups.IsKey(group))
            errors[prefix + "group"] = ["must be a group key as GET /dead-letters/groups lists it (12 lower-case hex characters)."];

        var from = Time(since, "since");
        var to = Time(until, "until");
        if (from is not null && to is not null && from >= to)
            errors[prefix + "until"] = ["must be later than since."];

        return errors.Count > before ? null
            : new DeadLetterFilter(Empty(reason), Empty(provider), Empty(chain), Empty(group), from, to);

        void Name(string? value, string name, int max)
        {
            if (value is { Length: > 0 } && value.Length > max)
                errors[prefix + name] = [$"must be at most {max} characters."];
        }

        DateTimeOffset? Time(string? value, string name)
        {
            if (string.IsNullOrEmpty(value))
                return null;
            if (TimeBound.TryParse(value, now, out var instant))
                return instant;
            errors[prefix + name] = [$"must be {TimeBound.Help}."];
            return null;
        }
    }

    private static string? Empty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}

/// <summary>What a replay or archive applies to: listed ids, or every parked item matching a filter.</summary>
/// <param name="Ids">Dead-letter ids or request ids (for a request parked by its chain they are the same).</param>
/// <param name="RedirectChain">Replay only: send the requests to this chain instead of their own.</param>
public sealed record DeadLetterSelection(IReadOnlyList<Guid>? Ids, DeadLetterFilter? Filter, bool DryRun, string? RedirectChain)
{
    public const int MaxIds = 10_000;

    private static readonly HashSet<string> TopLevel = ["requestIds", "filter", "dryRun", "chain"];
    private static readonly HashSet<string> FilterFields = ["reason", "provider", "chain", "group", "since", "until"];

    /// <summary>
    /// Parses the JSON body of <c>POST /dead-letters/replay</c> or <c>/archive</c>. Strict on purpose: an unknown or
    /// misspelt field is an error, never ignored, because an ignored filter field would widen the selection.
    /// </summary>
    public static DeadLetterSelection? TryParse(string body, bool allowRedirect, DateTimeOffset now, out Dictionary<string, string[]> errors)
    {
        errors = [];
        JsonElement root;
        try
        {
            using var document = JsonDocument.Parse(body);
            root = document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            errors["body"] = [$"must be a JSON object: {e.Message}"];
            return null;
        }

        if (root.ValueKind != JsonValueKind.Object)
        {
            errors["body"] = ["must be a JSON object, e.g. {\"requestIds\": [\"...\"]} or {\"filter\": {\"reason\": \"providers_exhausted\"}}."];
            return null;
        }

        foreach (var property in root.EnumerateObject().Where(p => !TopLevel.Contains(p.Name)))
            errors[property.Name] = [$"is not a field; use {string.Join(", ", TopLevel)}."];

        List<Guid>? ids = null;
        if (root.TryGetProperty("requestIds", out var idsJson))
            ids = ParseIds(idsJson, errors);

        DeadLetterFilter? filter = null;
        if (root.TryGetProperty("filter", out var filterJson))
            filter = ParseFilter(filterJson, now, errors);

        if (!root.TryGetProperty("requestIds", out _) && !root.TryGetProperty("filter", out _))
            errors["body"] = ["give either requestIds or filter ({\"filter\": {}} selects every parked item)."];
        else if (root.TryGetProperty("requestIds", out _) && root.TryGetProperty("filter", out _))
            errors["body"] = ["give requestIds or filter, not both."];

        var dryRun = false;
        if (root.TryGetProperty("dryRun", out var dryRunJson))
        {
            if (dryRunJson.ValueKind is JsonValueKind.True or JsonValueKind.False)
                dryRun = dryRunJson.GetBoolean();
            else
                errors["dryRun"] = ["must be true or false."];
        }

        string? chain = null;
        if (root.TryGetProperty("chain", out var chainJson))
        {
            if (!allowRedirect)
                errors["chain"] = ["only a replay can be redirected to another chain."];
            else if (chainJson.ValueKind == JsonValueKind.String && chainJson.GetString() is { Length: > 0 and <= 128 } name)
                chain = name;
            else
                errors["chain"] = ["must be the name of a configured chain."];
        }

        return errors.Count > 0 ? null : new DeadLetterSelection(ids, filter, dryRun, chain);
    }

    private static List<Guid>? ParseIds(JsonElement json, Dictionary<string, string[]> errors)
    {
        if (json.ValueKind != JsonValueKind.Array || json.GetArrayLength() is 0 or > MaxIds)
        {
            errors["requestIds"] = [$"must be an array of 1 to {MaxIds} ids."];
            return null;
        }

        var ids = new List<Guid>();
        foreach (var item in json.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String || !Guid.TryParse(item.GetString(), out var id))
            {
                errors["requestIds"] = [$"'{item}' is not a GUID."];
                return null;
            }

            ids.Add(id);
        }

        return [.. ids.Distinct()];
    }

    private static DeadLetterFilter? ParseFilter(JsonElement json, DateTimeOffset now, Dictionary<string, string[]> errors)
    {
        if (json.ValueKind != JsonValueKind.Object)
        {
            errors["filter"] = ["must be an object with any of reason, provider, chain, group, since, until ({} selects everything)."];
            return null;
        }

        var values = new Dictionary<string, string?>();
        foreach (var property in json.EnumerateObject())
        {
            if (!FilterFields.Contains(property.Name))
                errors["filter." + property.Name] = [$"is not a filter field; use {string.Join(", ", FilterFields)}."];
            else if (property.Value.ValueKind is JsonValueKind.String or JsonValueKind.Null)
                values[property.Name] = property.Value.GetString();
            else
                errors["filter." + property.Name] = ["must be a string."];
        }

        return DeadLetterFilter.TryParse(values.GetValueOrDefault("reason"), values.GetValueOrDefault("provider"),
            values.GetValueOrDefault("chain"), values.GetValueOrDefault("group"), values.GetValueOrDefault("since"),
            values.GetValueOrDefault("until"), now, errors, "filter.");
    }
}
