using System.Text.Json;
using Worker.Contracts;

namespace Worker.Structured;

/// <summary>The size of a request's prompt as every estimate of the worker (budgets, pacing, context windows) reads it.</summary>
public static class PromptEstimate
{
    /// <summary>
    /// The prompt's tokens, estimated at four characters each: the messages' text, the tool calls and results they carry,
    /// the tool definitions and the response schema (providers bill all of them as input). Every estimate of the worker
    /// (budgets, pacing, context windows) uses this one.
    /// </summary>
    public static int Tokens(CompletionRequested request)
    {
        long chars = 0;
        foreach (var message in request.Messages)
        {
            chars += message.Content?.Length ?? 0;
            foreach (var call in message.ToolCalls ?? [])
                chars += call.Name.Length + JsonLength(call.Arguments);
        }

        foreach (var tool in request.Tools ?? [])
            chars += tool.Name.Length + (tool.Description?.Length ?? 0) + JsonLength(tool.Parameters);
        chars += JsonLength(request.ResponseFormat?.Schema);
        return (int)Math.Min(int.MaxValue, chars / 4 + 1);
    }

    private static long JsonLength(JsonElement? value) =>
        value is { ValueKind: not JsonValueKind.Undefined } v ? v.GetRawText().Length : 0;
}
