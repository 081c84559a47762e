namespace Worker.Simulator.Calls;

/// <summary>Deterministic reply text and rough token counts, so tests can assert exact bodies.</summary>
internal static class Reply
{
    public const int QuotedLength = 80;

    private const string IdAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    /// <param name="words">Pad the reply with filler to this many words (a benchmark's output length); null: no padding.</param>
    public static string Text(string target, string model, string lastUserMessage, int? words = null)
    {
        var quoted = lastUserMessage.Length <= QuotedLength ? lastUserMessage : lastUserMessage[..QuotedLength];
        if (quoted.Length > 0 && char.IsHighSurrogate(quoted[^1]))
            quoted = quoted[..^1];
        var text = $"Simulated reply from {target}/{model} to: {quoted}";
        var missing = (words ?? 0) - CountWords(text);
        return missing > 0 ? text + string.Concat(Enumerable.Repeat(" more", missing)) : text;
    }

    /// <summary>Whitespace-separated words: the simulator's stand-in for tokens.</summary>
    public static int CountWords(string? text)
    {
        if (string.IsNullOrEmpty(text))
            return 0;
        var words = 0;
        var inWord = false;
        foreach (var c in text)
        {
            var space = char.IsWhiteSpace(c);
            if (!space && !inWord)
                words++;
            inWord = !space;
        }
        return words;
    }

    public static string RandomId(int length) =>
        string.Create(length, 0, static (span, _) =>
        {
            for (var i = 0; i < span.Length; i++)
                span[i] = IdAlphabet[Random.Shared.Next(IdAlphabet.Length)];
        });
}
