using Worker.Simulator.Faults;

namespace Worker.Simulator.Calls;

/// <summary>One call as received.</summary>
/// <param name="Sequence">Arrival order across all targets.</param>
/// <param name="Format"><c>gemini</c> or <c>openai</c>.</param>
/// <param name="Model">The model asked for; <c>(models)</c> for a models list, <c>(unknown)</c> when the body had none.</param>
/// <param name="Fault">What the simulator answered, validation rejections included (a missing key is <c>401</c> or <c>403</c>).</param>
public sealed record CallRecord(long Sequence, string Target, string Format, string Model, Fault Fault, DateTimeOffset ReceivedAt);

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
internal readonly record struct CallPlan(Fault Fault, TimeSpan Latency, int RetryAfterSeconds);
