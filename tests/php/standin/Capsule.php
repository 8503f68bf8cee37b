<?php
/**
 * A tiny stand-in for WHMCS\Database\Capsule (Laravel's query builder) over an SQLite PDO:
 * only what the module uses — table()/schema(), where/orderBy/limit/offset, get/first/value/
 * pluck/count, insert/update/delete, and schema create/dropIfExists/hasTable.
 * Methods keep Laravel's names and return shapes (get() -> a collection with all(); update()
 * and delete() -> affected rows) so code that runs here runs on the real thing.
 */

namespace WHMCS\Database;

final class Capsule
{
    private static ?\PDO $pdo = null;

    public static function connect(string $path): void
    {
        self::$pdo = new \PDO('sqlite:' . $path, null, null, [
            \PDO::ATTR_ERRMODE => \PDO::ERRMODE_EXCEPTION,
            \PDO::ATTR_DEFAULT_FETCH_MODE => \PDO::FETCH_OBJ,
        ]);
        self::$pdo->exec('PRAGMA busy_timeout = 5000');
    }

    public static function pdo(): \PDO
    {
        if (self::$pdo === null) {
            throw new \RuntimeException('stand-in Capsule: no database connected');
        }
        return self::$pdo;
    }

    public static function table(string $name): Builder
    {
        return new Builder(self::pdo(), $name);
    }

    public static function schema(): Schema
    {
        return new Schema(self::pdo());
    }
}

final class Collection implements \IteratorAggregate, \Countable
{
    public function __construct(private array $items)
    {
    }

    public function all(): array
    {
        return $this->items;
    }

    public function toArray(): array
    {
        return $this->items;
    }

    public function count(): int
    {
        return count($this->items);
    }

    public function getIterator(): \ArrayIterator
    {
        return new \ArrayIterator($this->items);
    }
}

final class Builder
{
    private array $wheres = [];
    private array $bindings = [];
    private array $orders = [];
    private ?int $limit = null;
    private ?int $offset = null;

    public function __construct(private \PDO $pdo, private string $table)
    {
    }

    private static function ident(string $name): string
    {
        if (!preg_match('/^[A-Za-z_][A-Za-z0-9_]*$/', $name)) {
            throw new \InvalidArgumentException('bad identifier ' . $name);
        }
        return '"' . $name . '"';
    }

    public function where(string $column, mixed $operator, mixed $value = null): self
    {
        if (func_num_args() === 2) {
            $value = $operator;
            $operator = '=';
        }
        if (!in_array($operator, ['=', '<', '<=', '>', '>=', '!=', '<>'], true)) {
            throw new \InvalidArgumentException('operator ' . $operator);
        }
        $this->wheres[] = self::ident($column) . ' ' . $operator . ' ?';
        $this->bindings[] = $value;
        return $this;
    }

    public function orderBy(string $column, string $direction = 'asc'): self
    {
        $this->orders[] = self::ident($column) . (strtolower($direction) === 'desc' ? ' DESC' : ' ASC');
        return $this;
    }

    public function limit(int $n): self
    {
        $this->limit = $n;
        return $this;
    }

    public function offset(int $n): self
    {
        $this->offset = $n;
        return $this;
    }

    private function whereSql(): string
    {
        return $this->wheres ? ' WHERE ' . implode(' AND ', $this->wheres) : '';
    }

    private function select(string $columns): \PDOStatement
    {
        $sql = 'SELECT ' . $columns . ' FROM ' . self::ident($this->table) . $this->whereSql();
        if ($this->orders) {
            $sql .= ' ORDER BY ' . implode(', ', $this->orders);
        }
        if ($this->limit !== null || $this->offset !== null) {
            $sql .= ' LIMIT ' . ($this->limit ?? -1);
            if ($this->offset !== null) {
                $sql .= ' OFFSET ' . $this->offset;
            }
        }
        $stmt = $this->pdo->prepare($sql);
        $stmt->execute($this->bindings);
        return $stmt;
    }

    public function get(): Collection
    {
        return new Collection($this->select('*')->fetchAll());
    }

    public function first(): ?object
    {
        $this->limit = 1;
        $row = $this->select('*')->fetch();
        return $row === false ? null : $row;
    }

    public function value(string $column): mixed
    {
        $row = $this->first();
        return $row === null ? null : ($row->$column ?? null);
    }

    public function pluck(string $value, ?string $key = null): Collection
    {
        $out = [];
        foreach ($this->select('*')->fetchAll() as $row) {
            if ($key === null) {
                $out[] = $row->$value;
            } else {
                $out[$row->$key] = $row->$value;
            }
        }
        return new Collection($out);
    }

    public function count(): int
    {
        return (int) $this->select('COUNT(*) AS c')->fetch()->c;
    }

    public function insert(array $values): bool
    {
        $cols = array_map([self::class, 'ident'], array_keys($values));
        $sql = 'INSERT INTO ' . self::ident($this->table) . ' (' . implode(', ', $cols) . ') VALUES ('
            . implode(', ', array_fill(0, count($values), '?')) . ')';
        return $this->pdo->prepare($sql)->execute(array_values($values));
    }

    public function update(array $values): int
    {
        $sets = [];
        foreach (array_keys($values) as $col) {
            $sets[] = self::ident($col) . ' = ?';
        }
        $stmt = $this->pdo->prepare('UPDATE ' . self::ident($this->table) . ' SET ' . implode(', ', $sets) . $this->whereSql());
        $stmt->execute(array_merge(array_values($values), $this->bindings));
        return $stmt->rowCount();
    }

    public function delete(): int
    {
        $stmt = $this->pdo->prepare('DELETE FROM ' . self::ident($this->table) . $this->whereSql());
        $stmt->execute($this->bindings);
        return $stmt->rowCount();
    }
}

final class Schema
{
    public function __construct(private \PDO $pdo)
    {
    }

    public function hasTable(string $name): bool
    {
        $stmt = $this->pdo->prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?");
        $stmt->execute([$name]);
        return $stmt->fetch() !== false;
    }

    public function create(string $name, callable $define): void
    {
        $table = new Blueprint($name);
        $define($table);
        foreach ($table->statements() as $sql) {
            $this->pdo->exec($sql);
        }
    }

    public function dropIfExists(string $name): void
    {
        $this->pdo->exec('DROP TABLE IF EXISTS "' . $name . '"');
    }
}

final class Blueprint
{
    /** @var list<Column> */
    private array $columns = [];
    private array $indexes = [];

    public function __construct(private string $name)
    {
    }

    private function add(string $name, string $type): Column
    {
        return $this->columns[] = new Column($name, $type);
    }

    public function increments(string $name): Column
    {
        return $this->add($name, 'INTEGER PRIMARY KEY AUTOINCREMENT');
    }

    public function string(string $name, int $length = 255): Column
    {
        return $this->add($name, 'VARCHAR(' . $length . ')');
    }

    public function text(string $name): Column
    {
        return $this->add($name, 'TEXT');
    }

    public function mediumText(string $name): Column
    {
        return $this->add($name, 'TEXT');
    }

    public function integer(string $name): Column
    {
        return $this->add($name, 'INTEGER');
    }

    public function unsignedInteger(string $name): Column
    {
        return $this->add($name, 'INTEGER');
    }

    public function index(array|string $columns): void
    {
        $this->indexes[] = (array) $columns;
    }

    /** @return list<string> */
    public function statements(): array
    {
        $defs = array_map(static fn (Column $c) => $c->sql(), $this->columns);
        $out = ['CREATE TABLE "' . $this->name . '" (' . implode(', ', $defs) . ')'];
        foreach ($this->indexes as $i => $cols) {
            $out[] = sprintf('CREATE INDEX "%s_idx%d" ON "%s" (%s)', $this->name, $i, $this->name,
                implode(', ', array_map(static fn ($c) => '"' . $c . '"', $cols)));
        }
        return $out;
    }
}

final class Column
{
    private bool $nullable = false;
    private bool $unique = false;
    private mixed $default = null;
    private bool $hasDefault = false;

    public function __construct(private string $name, private string $type)
    {
    }

    public function nullable(): self
    {
        $this->nullable = true;
        return $this;
    }

    public function unique(): self
    {
        $this->unique = true;
        return $this;
    }

    public function default(mixed $value): self
    {
        $this->default = $value;
        $this->hasDefault = true;
        return $this;
    }

    public function sql(): string
    {
        $sql = '"' . $this->name . '" ' . $this->type;
        if (!str_contains($this->type, 'PRIMARY KEY')) {
            $sql .= $this->nullable ? ' NULL' : ' NOT NULL';
        }
        if ($this->unique) {
            $sql .= ' UNIQUE';
        }
        if ($this->hasDefault) {
            $sql .= ' DEFAULT ' . (is_int($this->default) ? $this->default : "'" . str_replace("'", "''", (string) $this->default) . "'");
        }
        return $sql;
    }
}
