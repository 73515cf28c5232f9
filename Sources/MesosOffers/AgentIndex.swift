/// A max segment tree over the agents of a round, for one role: each node holds the largest free cpus, mem, disk,
/// gpus and ports below it, and the best spreading score. A search skips every subtree where some dimension is too
/// small, so finding an agent costs about log(agents) rather than a scan of all of them.
struct AgentIndex {
    private let leaves: Int
    private var cpus: [Int64]
    private var mem: [Int64]
    private var disk: [Int64]
    private var gpus: [Int64]
    private var ports: [Int64]
    private var score: [Double]

    init(count: Int) {
        var leaves = 1
        while leaves < max(count, 1) { leaves *= 2 }
        self.leaves = leaves
        self.cpus = Array(repeating: -1, count: 2 * leaves)
        self.mem = self.cpus
        self.disk = self.cpus
        self.gpus = self.cpus
        self.ports = self.cpus
        self.score = Array(repeating: -.infinity, count: 2 * leaves)
    }

    mutating func update(_ agent: Int, free: Amounts, score: Double) {
        var node = self.leaves + agent
        self.cpus[node] = free.cpus
        self.mem[node] = free.mem
        self.disk[node] = free.disk
        self.gpus[node] = free.gpus
        self.ports[node] = free.ports
        self.score[node] = score
        node /= 2
        while node >= 1 {
            let (left, right) = (2 * node, 2 * node + 1)
            self.cpus[node] = max(self.cpus[left], self.cpus[right])
            self.mem[node] = max(self.mem[left], self.mem[right])
            self.disk[node] = max(self.disk[left], self.disk[right])
            self.gpus[node] = max(self.gpus[left], self.gpus[right])
            self.ports[node] = max(self.ports[left], self.ports[right])
            self.score[node] = max(self.score[left], self.score[right])
            node /= 2
        }
    }

    /// An agent's free amounts, as last updated.
    func free(_ agent: Int) -> Amounts {
        let node = self.leaves + agent
        var amounts = Amounts()
        amounts.cpus = self.cpus[node]
        amounts.mem = self.mem[node]
        amounts.disk = self.disk[node]
        amounts.gpus = self.gpus[node]
        amounts.ports = self.ports[node]
        return amounts
    }

    func score(_ agent: Int) -> Double { self.score[self.leaves + agent] }

    private func mayFit(_ node: Int, _ need: Amounts) -> Bool {
        self.cpus[node] >= need.cpus && self.mem[node] >= need.mem && self.disk[node] >= need.disk
            && self.gpus[node] >= need.gpus && self.ports[node] >= need.ports
    }

    /// The lowest-numbered agent whose free amounts cover `need` and that `accept` (if any) takes.
    func firstFit(_ need: Amounts, accept: ((Int) -> Bool)?) -> Int? {
        // Iterative depth-first search, left first: no closures or copies per node.
        var stack: [Int] = [1]
        stack.reserveCapacity(64)
        while let node = stack.popLast() {
            guard self.mayFit(node, need) else { continue }
            if node >= self.leaves {
                let agent = node - self.leaves
                if accept?(agent) ?? true { return agent }
                continue
            }
            stack.append(2 * node + 1)
            stack.append(2 * node)
        }
        return nil
    }

    /// The agent with the highest score among those whose free amounts cover `need` and that `accept` takes.
    /// Among equal scores the search keeps the first it meets (higher-scoring subtrees first, then lower agent
    /// numbers), so equal agents cost log(agents), not a scan.
    func best(_ need: Amounts, accept: ((Int) -> Bool)?) -> Int? {
        var found: (agent: Int, score: Double)?
        func search(_ node: Int) {
            guard self.mayFit(node, need) else { return }
            if let found, self.score[node] <= found.score { return }
            if node >= self.leaves {
                let agent = node - self.leaves
                if accept?(agent) ?? true { found = (agent, self.score[node]) }
                return
            }
            let (left, right) = (2 * node, 2 * node + 1)
            if self.score[right] > self.score[left] {
                search(right)
                search(left)
            } else {
                search(left)
                search(right)
            }
        }
        search(1)
        return found?.agent
    }
}
