using System.Security.Cryptography;
using System.Text.Json;
using Worker.Contracts;

namespace Worker.Providers.OpenAI;

/// <summary>
/// Reads the tool calls and the finish reason of a Chat Completions answer into the contract's form. Checking the
/// arguments against the tools' schemas is the chain's job; here only arguments that are not JSON at all are refused.
/// </summary>
internal static class ChatAnswerReading
{
    /// <summary>
    /// The answer's tool calls, null when there are none; or, in <paramref name="problem"/>, why they are unusable
    /// (a bad_output: the model may do better on the next call).
    /// </summary>
    public static IReadOnlyList<ToolCall>? ToolCalls(List<ChatResponseToolCall>? wire, out string? problem)
    {
        problem = null;
        if (wire is not [_, ..])
        {
            return null;
        }

        var calls = new List<ToolCall>(wire.Count);
        foreach (var call in wire)
        {
            if (call.Function?.Name is not { Length: > 0 } name)
            {
                problem = "tool call without a function name";
                return null;
            }

            if (Arguments(call.Function.Arguments) is not { } arguments)
            {
                problem = $"arguments of the call of tool '{name}' are not JSON";
                return null;
            }

            calls.Add(new ToolCall(string.IsNullOrEmpty(call.Id) ? ToolCallParts.NewId() : call.Id, name, arguments));
        }

        return calls;
    }

    /// <summary>
    /// The finish reason as one of <see cref="FinishReasons"/> (null when the server gave none). Tool calls make it
    /// <c>tool_calls</c> whatever the server said, as some compatible servers say stop even then. A
    /// <c>tool_calls</c> reason without any call is a plain stop, since nothing waits for results.
    /// <c>content_filter</c> never gets here: it is a content_blocked failure.
    /// </summary>
    public static string? Finish(string? reason, bool hasToolCalls) =>
        hasToolCalls ? FinishReasons.ToolCalls
        : reason switch
        {
            null => null,
            "length" or "max_tokens" => FinishReasons.Length,
            // stop, eos, end, end_turn, stop_sequence, tool_calls or function_call without calls, error, and the rest.
            _ => FinishReasons.Stop,
        };

    /// <summary>
    /// The arguments as a JSON value, or null when they are not JSON. OpenAI sends a string holding JSON; some
    /// compatible servers send the object itself. Nothing at all, or an empty string, means a call without arguments.
    /// </summary>
    private static JsonElement? Arguments(JsonElement arguments)
    {
        switch (arguments.ValueKind)
        {
            case JsonValueKind.Undefined or JsonValueKind.Null:
                return ToolCallParts.EmptyArguments;
            case JsonValueKind.String:
                var text = arguments.GetString()!;
                if (string.IsNullOrWhiteSpace(text))
                {
                    return ToolCallParts.EmptyArguments;
                }

                try
                {
                    using var document = JsonDocument.Parse(text);
                    return document.RootElement.Clone();
                }
                catch (JsonException)
                {
                    return null;
                }

            default:
                return arguments.Clone();
        }
    }
}
