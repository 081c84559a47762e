using System.Net.Http.Json;
using System.Text.Json;

namespace Worker.Benchmarks.Harness;

/// <summary>The simulator's admin API (<c>/_sim</c>): fault profiles per target, call counters, reset.</summary>
public sealed class SimulatorAdmin(Uri baseAddress) : IDisposable
{
    private readonly HttpClient _http = new() { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(10) };

    public Uri BaseAddress => baseAddress;

    public async Task<bool> IsUpAsync(CancellationToken cancellationToken)
    {
        try
        {
            return (await _http.GetAsync("_sim/targets", cancellationToken)).IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    /// <summary>Every target healthy, every counter zero.</summary>
    public async Task ResetAsync(CancellationToken cancellationToken) =>
        (await _http.PostAsync("_sim/reset", null, cancellationToken)).EnsureSuccessStatusCode();

    public async Task ClearCountersAsync(CancellationToken cancellationToken) =>
        (await _http.DeleteAsync("_sim/calls", cancellationToken)).EnsureSuccessStatusCode();

    /// <summary>Sets a profile (camelCase, as in the README) and returns the target as the simulator shows it.</summary>
    public async Task<JsonElement> SetFaultsAsync(string target, object profile, CancellationToken cancellationToken)
    {
        var response = await _http.PutAsJsonAsync($"_sim/targets/{target}/faults", profile, cancellationToken);
        if (!response.IsSuccessStatusCode)
            throw new InvalidOperationException($"The simulator refused the profile for {target}: {await response.Content.ReadAsStringAsync(cancellationToken)}");
        return await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
    }

    /// <summary>Calls the target received since the last reset (live requests and health pings alike).</summary>
    public async Task<long> CallsAsync(string target, CancellationToken cancellationToken) =>
        (await _http.GetFromJsonAsync<JsonElement>($"_sim/calls/{target}", cancellationToken)).GetProperty("total").GetInt64();

    public void Dispose() => _http.Dispose();
}
