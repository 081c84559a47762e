using Worker.Simulator.Faults;

namespace Worker.Simulator.Calls;

/// <summary>One call as received.</summary>
/// <param name="Sequence">Arrival order across all targets.</param>
/// <param name="Format"><c>gemini</c>, <c>openai</c> or <c>anthropic</c>.</param>
/// <param name="Model">The model asked for; <c>(models)</c> for a models list, <c>(unknown)</c> when the body had none.</param>
/// <param name="Fault">What the simulator answered, validation rejections included (a missing key is <c>401</c> or <c>403</c>).</param>
/// <param name="Prompt">The last user message (its first <see cref="PromptCounts.KeyLength"/> characters), when the body could be read:
/// tests that make prompts unique count calls per request with it.</param>
public sealed record CallRecord(long Sequence, string Target, string Format, string Model, Fault Fault, DateTimeOffset ReceivedAt, string? Prompt = null);

/// <summary>Calls received with one prompt (the last user message), and how many were answered <c>ok</c>.</summary>
public sealed record PromptCounts(long Total, long Succeeded)
{
    /// <summary>Prompts are counted by their first this many characters.</summary>
    public const int KeyLength = 200;

    /// <summary>Distinct prompts counted per target; past this, new prompts are not counted (a long benchmark stays bounded).</summary>
    public const int MaxPrompts = 500_000;

    internal static string? Key(string? prompt) => prompt is null ? null : prompt.Length <= KeyLength ? prompt : prompt[..KeyLength];
}

/// <summary>Counters of one target, or of all of them.</summary>
/// <param name="Total">Every request to a provider route, including those that failed, hung or were reset.</param>
/// <param name="Succeeded">Calls answered <c>ok</c>.</param>
public sealed record CallCounters(
    long Total,
    long Succeeded,
    IReadOnlyDictionary<Fault, long> ByFault,
    IReadOnlyDictionary<string, long> ByModel)
{
    internal static CallCounters Sum(IEnumerable<CallCounters> counters)
    {
        long total = 0, succeeded = 0;
        var byFault = new Dictionary<Fault, long>();
        var byModel = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var c in counters)
        {
            total += c.Total;
            succeeded += c.Succeeded;
            foreach (var (fault, n) in c.ByFault)
                byFault[fault] = byFault.GetValueOrDefault(fault) + n;
            foreach (var (model, n) in c.ByModel)
                byModel[model] = byModel.GetValueOrDefault(model) + n;
        }
        return new(total, succeeded, byFault, byModel);
    }
}

/// <summary>What to do with one admitted call.</summary>
/// <param name="Held">Completes when a holding profile lets its calls go; null when the call is not held.</param>
/// <param name="ReplyToMaxTokens">Pad a successful reply to the request's maximum output tokens (<see cref="Faults.FaultProfile.ReplyToMaxTokens"/>).</param>
internal readonly record struct CallPlan(Fault Fault, TimeSpan Latency, int RetryAfterSeconds, Task? Held = null, RateLimitState? RateLimit = null,
    bool ReplyToMaxTokens = false);

/// <summary>The <c>echo</c> fault's text: every request header, as a careless upstream error page shows them.</summary>
internal static class Echo
{
    public static string Of(HttpRequest request) =>
        "upstream failed while handling " + request.Method + " " + request.Path + " with headers: " +
        string.Join("; ", request.Headers.Select(h => $"{h.Key}: {h.Value}"));
}
