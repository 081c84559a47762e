namespace Worker.Requests;

/// <summary>
/// Which outcome of its request a result is: the first (replay count 0), or the one the n-th ops replay produced, which
/// replaces the outcome stored before it.
/// </summary>
public readonly record struct OutcomeLineage(int ReplayCount, Guid? Supersedes)
{
    public static readonly OutcomeLineage First = new(0, null);

    /// <summary>The lineage of the outcome a delivery produces, from its request row's replay count and stored result.</summary>
    public static OutcomeLineage Of(Guid requestId, int replayCount, string? storedResult) =>
        replayCount == 0 ? First : new(replayCount, storedResult is null ? null : RequestResult.MessageId(requestId, StoredReplayCount(storedResult)));

    private static int StoredReplayCount(string json)
    {
        using var document = System.Text.Json.JsonDocument.Parse(json);
        return document.RootElement.TryGetProperty("replayCount", out var count) && count.TryGetInt32(out var n) ? n : 0;
    }
}
